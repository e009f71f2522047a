# The stacks of the project of the provider's stack_api_key; set api_key to
# list another project's.
data "berth_stacks" "web" {
  api_key = berth_stack_project.web.api_key
}

output "free_stacks" {
  value = [for s in data.berth_stacks.web.stacks : s.stack_name if s.is_available]
}
