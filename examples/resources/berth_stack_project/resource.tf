resource "berth_stack_project" "web" {
  name           = "web"
  team           = "frontend"
  prefix         = "web-"
  initial_commit = "4f2c1a9"
}

# The key CI jobs send as X-API-Key, e.g. stored as a CI secret.
output "web_stack_key" {
  value     = berth_stack_project.web.api_key
  sensitive = true
}
