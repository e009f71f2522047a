variable "database_password" {
  type      = string
  sensitive = true
}

resource "berth_app" "checkout" {
  name     = "checkout"
  team     = "payments"
  platform = "go"

  # Only these vars are managed: vars a service binding, CI or a person
  # sets on the app are left alone.
  config_vars = {
    PORT      = "8080"
    LOG_LEVEL = "info"
  }
  sensitive_config_vars = {
    DATABASE_PASSWORD = var.database_password
  }

  procs = [
    { name = "web", num_instances = 2, memory = "256M" },
    { name = "worker", num_instances = 1, cpu = 2, memory = "1G" },
  ]
}
