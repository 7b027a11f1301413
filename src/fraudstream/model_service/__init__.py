"""The model service: FastAPI scoring of transaction batches with the live champion.

``fraudstream.model_service.app.create_app(settings)`` builds the app; ``fraudstream serve``
runs it under uvicorn. The service holds no state that matters beyond the loaded models, so
replicas can run side by side behind a load balancer.
"""
