# A brokered service: berthd calls the broker's production endpoint with
# the tsuru service protocol to create, bind and remove instances.
resource "berth_service" "postgres" {
  id   = "postgres"
  team = "platform"
  endpoints = {
    production = "https://pg-broker.internal"
    test       = "https://pg-broker.test.internal"
  }
  username = "berth"
  password = var.pg_broker_password
  doc      = "PostgreSQL 16, one database per instance. Bind to get DATABASE_URL."
  teams    = ["payments", "search"]
}

# A static service: no broker; every instance exports these vars.
resource "berth_service" "redis" {
  id   = "shared-redis"
  team = "platform"
  env = {
    REDIS_URL = "redis://redis.internal:6379/0"
  }
  teams = ["payments"]
}

variable "pg_broker_password" {
  type      = string
  sensitive = true
}
