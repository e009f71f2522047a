# By name (or by id, with id = "...").
data "berth_app" "billing" {
  name = "billing"
}

output "billing_address" {
  value = data.berth_app.billing.ip
}
