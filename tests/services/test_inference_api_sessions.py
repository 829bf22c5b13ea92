"""Agent sessions in S3 (moto's server over HTTP): they survive a restart and stay with their user."""

from __future__ import annotations

import hashlib

from agent_fakes import scripted, sent_messages, text_frames
from deploy_support import Aws
from http_fakes import call, running_bedrock, running_issuer, running_service
from services_testkit import INFERENCE_API

BUCKET = "agent-sessions-test"


def test_a_session_continues_after_a_restart_and_another_subject_cannot_load_it(aws: Aws) -> None:
    aws.client("s3").create_bucket(Bucket=BUCKET)
    with running_issuer() as issuer, running_bedrock(scripted(text_frames("Hello Ada."))) as fake:
        env = {"AUTH_ISSUER": issuer.url, "AUTH_AUDIENCE": "platform-api", "AGENT_TOOLS": "calculator",
               "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": fake.url, "AWS_ENDPOINT_URL_S3": aws.url,
               "SESSION_BUCKET": BUCKET, "BEDROCK_MAX_ATTEMPTS": "1"}
        ada, eve = issuer.token(sub="ada"), issuer.token(sub="eve")
        body = {"prompt": "My name is Ada.", "session_id": "chat-1"}
        with running_service(INFERENCE_API, **env) as svc:
            first = call(svc.url, "POST", "/inference/agent?stream=false", body, token=ada)
        assert first.status == 200, first.body
        with running_service(INFERENCE_API, **env) as svc:  # a new process: nothing kept in memory
            again = call(svc.url, "POST", "/inference/agent?stream=false",
                         {"prompt": "What is my name?", "session_id": "chat-1"}, token=ada)
            other = call(svc.url, "POST", "/inference/agent?stream=false",
                         {"prompt": "What is my name?", "session_id": "chat-1"}, token=eve)
    assert again.status == 200 and other.status == 200 and again.json()["session_id"] == "chat-1"
    texts = [[c["text"] for c in m["content"]] for m in sent_messages(fake, 1)]
    assert texts == [["My name is Ada."], ["Hello Ada."], ["What is my name?"]]
    assert [[c["text"] for c in m["content"]] for m in sent_messages(fake, 2)] == [["What is my name?"]]
    keys = [o["Key"] for o in aws.client("s3").list_objects_v2(Bucket=BUCKET)["Contents"]]
    ada_prefix = f"sessions/{hashlib.sha256(b'ada').hexdigest()[:32]}/session_chat-1/"
    eve_prefix = f"sessions/{hashlib.sha256(b'eve').hexdigest()[:32]}/session_chat-1/"
    assert keys and all(k.startswith((ada_prefix, eve_prefix)) for k in keys)


def test_a_session_id_without_a_bucket_is_refused(aws: Aws) -> None:
    with running_bedrock(scripted(text_frames("x"))) as fake, running_service(
        INFERENCE_API, AUTH_DISABLED="1", AWS_ENDPOINT_URL_BEDROCK_RUNTIME=fake.url,
    ) as svc:
        answer = call(svc.url, "POST", "/inference/agent", {"prompt": "hi", "session_id": "s1"})
    assert answer.status == 400 and answer.json()["error"]["code"] == "sessions_unavailable"


def test_an_unreachable_session_store_is_503_in_the_one_shape(aws: Aws) -> None:
    """The bucket does not exist: the session cannot be read, and the answer says so (not a Bedrock error)."""
    from http_fakes import assert_error_shape

    with running_bedrock(scripted(text_frames("x"))) as fake, running_service(
        INFERENCE_API, AUTH_DISABLED="1", AWS_ENDPOINT_URL_BEDROCK_RUNTIME=fake.url, AWS_ENDPOINT_URL_S3=aws.url,
        SESSION_BUCKET="no-such-bucket-here",
    ) as svc:
        answer = call(svc.url, "POST", "/inference/agent", {"prompt": "hi", "session_id": "s1"})
    assert_error_shape(answer, 503, "sessions_unavailable")
    assert fake.requests == []
