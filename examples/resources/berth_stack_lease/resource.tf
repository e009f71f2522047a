# Hold a test stack for a long-lived review environment of a branch.
resource "berth_stack_lease" "review" {
  api_key = berth_stack_project.web.api_key # or the provider's stack_api_key
  branch  = "feature-checkout"
  ttl     = 7 * 24 * 3600 # a week; when it runs out, the next apply leases again
  commit  = var.deployed_commit
}

variable "deployed_commit" {
  type = string
}

output "review_stage" {
  value = berth_stack_lease.review.stack_name # e.g. web-3
}
