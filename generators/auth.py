"""Sign-in: the `auth` stack, and what every service stack reads from it.

Provider "cognito": a user pool signing in by e-mail, one public app client (authorization
code + PKCE, no secret) and the hosted sign-in domain. Provider "oidc": only the SSM
parameters, holding an external issuer's values (the endpoints only when configured: the site
then uses the issuer's discovery document). Services and the site read the same paths either
way. Provider "off": no stack at all, and services are told so explicitly (AUTH_DISABLED=1).
"""

from __future__ import annotations

from troposphere import Output, Ref, Sub, Template
from troposphere import cognito as cg

from .common import ssm_input, ssm_output
from .config import Config
from .naming import AUTH_KEYS, SITE_URL_KEY, auth_param, service_param

OAUTH_SCOPES = ["openid", "email", "profile"]


def build_auth(cfg: Config) -> Template:
    """The environment's identity provider (or its external values), published under /<prefix>/auth/."""
    auth = cfg.env.auth
    t = Template(Description=f"{cfg.prefix} auth: sign-in ({auth.provider}) published for services and site")
    values = add_cognito(t, cfg) if auth.provider == "cognito" else oidc_values(cfg)
    for key in (k for k in AUTH_KEYS if k in values):
        ssm_output(t, auth_param(cfg.prefix, key), values[key], f"Sign-in: {key} ({auth.provider})")
    t.add_output(Output("Issuer", Description="Token issuer (AUTH_ISSUER)", Value=values["issuer"]))
    return t


def oidc_values(cfg: Config) -> dict[str, object]:
    auth = cfg.env.auth
    # The endpoints only when configured: without them the site reads the issuer's discovery
    # document, which knows where each provider (Auth0, Entra ID, Okta) puts them.
    values = {"issuer": auth.issuer, "audience": auth.audience, "client-id": auth.client_id,
              "authorize-url": auth.authorize_url, "token-url": auth.token_url}
    return {k: v for k, v in values.items() if v}


def add_cognito(t: Template, cfg: Config) -> dict[str, object]:
    # The site's URL comes from the frontend stack, so the frontend deploys before this one.
    site = ssm_input(t, "SiteUrl", service_param(cfg.prefix, "frontend", SITE_URL_KEY))
    pool = t.add_resource(user_pool(cfg))
    client = t.add_resource(app_client(cfg, pool, site))
    domain = t.add_resource(cg.UserPoolDomain(
        "UserPoolDomain", Domain=cfg.env.auth.domain_prefix, UserPoolId=Ref(pool),
        ManagedLoginVersion=1,  # the classic hosted UI: version 2 needs a branding resource as well
    ))
    hosted = Sub(f"https://${{{domain.title}}}.auth.${{AWS::Region}}.amazoncognito.com")
    t.add_output(Output("UserPoolId", Description="Cognito user pool id", Value=Ref(pool)))
    t.add_output(Output("HostedSignInUrl", Description="Hosted sign-in domain", Value=hosted))
    return {
        "issuer": Sub("https://cognito-idp.${AWS::Region}.amazonaws.com/${UserPool}"),
        # Cognito access tokens carry the app client id as `client_id` (no `aud`): that is the audience.
        "audience": Ref(client),
        "client-id": Ref(client),
        "authorize-url": Sub(f"https://${{{domain.title}}}.auth.${{AWS::Region}}.amazoncognito.com/oauth2/authorize"),
        "token-url": Sub(f"https://${{{domain.title}}}.auth.${{AWS::Region}}.amazoncognito.com/oauth2/token"),
    }


def user_pool(cfg: Config) -> cg.UserPool:
    auth = cfg.env.auth
    pool = cg.UserPool(
        "UserPool", UserPoolName=f"{cfg.prefix}-users",
        UsernameAttributes=["email"], AutoVerifiedAttributes=["email"],
        UsernameConfiguration=cg.UsernameConfiguration(CaseSensitive=False),
        AdminCreateUserConfig=cg.AdminCreateUserConfig(AllowAdminCreateUserOnly=not auth.self_sign_up),
        Policies=cg.Policies(PasswordPolicy=cg.PasswordPolicy(
            MinimumLength=14, RequireLowercase=True, RequireUppercase=True, RequireNumbers=True,
            RequireSymbols=True, TemporaryPasswordValidityDays=3)),
        AccountRecoverySetting=cg.AccountRecoverySetting(RecoveryMechanisms=[
            cg.RecoveryOption(Name="verified_email", Priority=1)]),
        # Lite covers the hosted (classic) sign-in page with code + PKCE at the lowest per-user price;
        # threat protection ("advanced security") needs Plus, billed per user with no free tier.
        UserPoolTier="PLUS" if auth.advanced_security != "OFF" else "LITE",
        DeletionProtection="ACTIVE" if auth.deletion_protection else "INACTIVE",
        Schema=[cg.SchemaAttribute(Name="email", AttributeDataType="String", Required=True, Mutable=True)],
        # The pool holds the users' accounts: deleting the stack must not delete them with it.
        DeletionPolicy="Retain", UpdateReplacePolicy="Retain",
    )
    if auth.advanced_security != "OFF":  # an add-on block at all only where the plan includes it
        pool.UserPoolAddOns = cg.UserPoolAddOns(AdvancedSecurityMode=auth.advanced_security)
    return pool


def app_client(cfg: Config, pool: cg.UserPool, site: Ref) -> cg.UserPoolClient:
    auth = cfg.env.auth
    # Both spellings of the site's root: Cognito compares redirect URIs as exact strings. With a
    # domain, viewers reach the site under that name as well as under CloudFront's own.
    urls: list[object] = [site, Sub("${SiteUrl}/")]
    if cfg.env.edge.domain:
        urls.append(f"https://{cfg.env.edge.domain}/")
    return cg.UserPoolClient(
        "AppClient", ClientName=f"{cfg.prefix}-site", UserPoolId=Ref(pool),
        # A browser cannot keep a secret: a public client, and the code flow only (the site sends a
        # PKCE S256 challenge; Cognito has no switch that makes PKCE mandatory for a client).
        GenerateSecret=False, AllowedOAuthFlowsUserPoolClient=True, AllowedOAuthFlows=["code"],
        AllowedOAuthScopes=OAUTH_SCOPES, SupportedIdentityProviders=["COGNITO"],
        CallbackURLs=urls, LogoutURLs=urls,
        ExplicitAuthFlows=["ALLOW_REFRESH_TOKEN_AUTH"],  # no password flows outside the hosted page
        PreventUserExistenceErrors="ENABLED", EnableTokenRevocation=True,
        AccessTokenValidity=auth.access_token_minutes, IdTokenValidity=auth.access_token_minutes,
        RefreshTokenValidity=auth.refresh_token_days,
        TokenValidityUnits=cg.TokenValidityUnits(AccessToken="minutes", IdToken="minutes", RefreshToken="days"),
    )


def service_auth_environment(t: Template, cfg: Config) -> dict[str, object]:
    """The sign-in variables of every service container, read from the auth stack's SSM parameters."""
    if not cfg.env.auth.enabled:
        return {"AUTH_DISABLED": "1"}
    return {
        "AUTH_ISSUER": ssm_input(t, "AuthIssuer", auth_param(cfg.prefix, "issuer")),
        "AUTH_AUDIENCE": ssm_input(t, "AuthAudience", auth_param(cfg.prefix, "audience")),
    }


def auth_warning(cfg: Config) -> str | None:
    """What --synth says on stderr when an environment's APIs are open to anyone."""
    if cfg.env.auth.enabled:
        return None
    return (f"warning: environments.{cfg.env.name}.auth.provider = \"off\": /inference/* and writes to /api/* "
            "accept requests from anyone (services run with AUTH_DISABLED=1)")
