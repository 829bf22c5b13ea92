"""What every platform HTTP service shares, so that each service holds only what differs.

- settings: ServiceSettings, the environment variables every service reads (subclass to add more)
- envconfig: EnvReader and ConfigError, typed getters that report every bad variable at once
- factory: create_service_app, the FastAPI app with health routes, readiness and the access log
- health: the Health model and health_router
- accesslog, jsonlog: request ids, one JSON access line per request, JSON logging on stdout
- server: run_service, the console scripts' entry (settings, logging, uvicorn until SIGTERM)
- early: EarlyApp, listening (and answering the health check) before the app is imported and built
- prelisten: PreListener, answering the health check on the bound port before uvicorn is imported
- signin_gate: SignInGate, sign-in checked before anything reads a request's body
"""
