# A binding is imported as <instance>/<app>.
terraform import berth_service_binding.payments_api_db payments-db/payments-api
