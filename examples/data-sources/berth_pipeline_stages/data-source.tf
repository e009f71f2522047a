data "berth_pipeline_stages" "all" {}

# The stage releases of staging are promoted to.
output "after_staging" {
  value = one([for s in data.berth_pipeline_stages.all.stages : s.next if s.name == "staging"])
}
