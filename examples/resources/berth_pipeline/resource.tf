resource "berth_pipeline" "shop" {
  name = "shop"
  team = "shop"
}
