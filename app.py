"""soho-backoffice: the Chalice app. Blueprints and middleware only."""
from chalice import Chalice

from chalicelib.entrypoints import (api_abuse, api_account, api_admin, api_availability, api_dev, api_disputes, api_docs,
                                    api_domains, api_privacy, api_storefront, api_terms, api_tickets, consumers,
                                    error_shape, middleware, notices, routes, schedules, webhooks)

app = Chalice(app_name="soho-backoffice", configure_logs=False)

app.register_middleware(middleware.http_logging, "http")
app.register_middleware(error_shape.normalize_errors, "http")  # Chalice's own 4xx/5xx in our error shape
app.register_middleware(middleware.authorize, "http")
for kind in ("sqs", "scheduled"):
    app.register_middleware(middleware.event_logging, kind)

for module in (api_storefront, webhooks, api_admin, api_dev, api_docs, api_account, api_privacy, api_terms,
               api_abuse, api_tickets, api_availability, api_disputes, api_domains, consumers, schedules, notices):
    app.register_blueprint(module.bp)

routes.check_catalogue(app.routes)  # every route has its access rule (R04, R06) and its API description
