"""Pure CloudFormation generators: configuration in, troposphere templates out.

No module here reads files (except config.py, which loads platform.toml once, and regions.py,
which reads the region list botocore ships), the
environment, the network or AWS.
"""
