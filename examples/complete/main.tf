# A complete berth setup: a team, its three apps in a delivery pipeline
# (development -> staging -> production, production gated on CI), a cache
# service bound to the staging app, and a test stack leased for a branch.
#
# Against a local berthd (see the README):
#   make dev-provider && export TF_CLI_CONFIG_FILE=$PWD/bin/dev.tfrc
#   export BERTH_ENDPOINT=http://127.0.0.1:8080 BERTH_TOKEN=$(cat berth-data/admin-token)
#   cd examples/complete && terraform apply

terraform {
  required_providers {
    berth = {
      source = "berthdev/berth"
    }
  }
}

# endpoint and token come from BERTH_ENDPOINT and BERTH_TOKEN.
provider "berth" {}

variable "team" {
  description = "The team that owns everything here; the caller becomes a member."
  type        = string
  default     = "shop"
}

variable "branch" {
  description = "The branch to lease a test stack for."
  type        = string
  default     = "feature-checkout"
}

data "berth_pipeline_stages" "all" {}

resource "berth_team" "shop" {
  name = var.team
}

locals {
  # One app per stage, each with the same config var names, so that safe
  # promotions between them are possible.
  stages = {
    development = { name = "${var.team}-dev", log_level = "debug", instances = 1 }
    staging     = { name = "${var.team}-stg", log_level = "info", instances = 1 }
    production  = { name = "${var.team}-prd", log_level = "warn", instances = 3 }
  }
}

resource "berth_app" "shop" {
  for_each = local.stages

  name     = each.value.name
  team     = berth_team.shop.name
  platform = "go"

  config_vars = {
    APP_ENV   = each.key
    LOG_LEVEL = each.value.log_level
  }

  procs = [
    { name = "web", num_instances = each.value.instances, memory = "256M" },
  ]
}

resource "berth_pipeline" "shop" {
  name = var.team
  team = berth_team.shop.name
}

resource "berth_pipeline_coupling" "shop" {
  for_each = berth_app.shop

  pipeline = berth_pipeline.shop.id
  app      = each.value.name
  stage    = each.key
  # A release reaches production only once CI reported success on it.
  required_status_checks = each.key == "production" ? ["ci/tests"] : []
}

# A static service: no broker; every instance exports the declared vars.
resource "berth_service" "cache" {
  id   = "${var.team}-cache"
  team = berth_team.shop.name
  env = {
    CACHE_URL = "redis://cache.internal:6379/0"
  }
}

resource "berth_service_instance" "cache" {
  name    = "${var.team}-cache-stg"
  service = berth_service.cache.id
  team    = berth_team.shop.name
}

resource "berth_service_binding" "cache" {
  instance = berth_service_instance.cache.name
  app      = berth_app.shop["staging"].name
}

resource "berth_stack_project" "shop" {
  name   = var.team
  team   = berth_team.shop.name
  prefix = "${var.team}-test-"
}

resource "berth_stack_lease" "branch" {
  api_key = berth_stack_project.shop.api_key
  branch  = var.branch
  ttl     = 24 * 3600
}

output "stages" {
  description = "The pipeline's stages, in order."
  value       = data.berth_pipeline_stages.all.stages
}

output "cache_vars" {
  description = "The vars the cache binding exported into the staging app."
  value       = berth_service_binding.cache.exported_vars
}

output "test_stack" {
  description = "The stack leased for the branch."
  value       = berth_stack_lease.branch.stack_name
}

output "stack_api_key" {
  description = "The project's key, for CI jobs (X-API-Key): store it as a CI secret."
  value       = berth_stack_project.shop.api_key
  sensitive   = true
}
