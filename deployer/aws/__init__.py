"""Every AWS call (boto3), clients passed in: the only package that talks to AWS."""
