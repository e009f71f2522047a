# A service instance is imported by its name.
terraform import berth_service_instance.payments_db payments-db
