resource "berth_service_instance" "payments_db" {
  name    = "payments-db"
  service = berth_service.postgres.id
  team    = "payments"
}
