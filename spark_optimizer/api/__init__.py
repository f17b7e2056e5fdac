"""The REST API (`spark-optimizer serve`): a thin FastAPI layer over the library.

`app` builds the application (settings, API key, error mapping), `routes` holds the endpoints,
`schemas` the strict request and response models.
"""

from spark_optimizer.api.app import create_app

__all__ = ["create_app"]
