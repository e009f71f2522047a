resource "berth_team" "payments" {
  name = "payments"
  members = [
    "admin@berth.local",
    "ana@example.com",
  ]
}
