"""The embedded AWS emulator (moto) for --local and tests; the AWS path never imports it."""
