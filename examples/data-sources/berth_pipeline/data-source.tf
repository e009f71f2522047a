data "berth_pipeline" "shop" {
  name = "shop"
}

# The apps a release of the development stage is promoted to.
output "shop_staging_apps" {
  value = [for c in data.berth_pipeline.shop.couplings : c.app_name if c.stage == "staging"]
}
