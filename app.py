"""soho-backoffice: the Chalice app. Blueprints and middleware only."""
from chalice import Chalice

from chalicelib.entrypoints import (api_admin, api_dev, api_storefront, consumers, middleware, notices, schedules,
                                    webhooks)

app = Chalice(app_name="soho-backoffice", configure_logs=False)

app.register_middleware(middleware.http_logging, "http")
for kind in ("sqs", "scheduled"):
    app.register_middleware(middleware.event_logging, kind)

for module in (api_storefront, webhooks, api_admin, api_dev, consumers, schedules, notices):
    app.register_blueprint(module.bp)
