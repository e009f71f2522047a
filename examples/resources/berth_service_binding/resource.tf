resource "berth_service_binding" "payments_api_db" {
  instance = berth_service_instance.payments_db.name
  app      = "payments-api"
}

output "payments_api_db_vars" {
  value = berth_service_binding.payments_api_db.exported_vars
}
