data "berth_service" "postgres" {
  id = "postgres"
}

# Create an instance only of a service the provider's user may use.
resource "berth_service_instance" "search_db" {
  name    = "search-db"
  service = data.berth_service.postgres.id
}

output "postgres_doc" {
  value = data.berth_service.postgres.doc
}
