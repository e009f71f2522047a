variable "shop_release" {
  description = "The release of shop-dev to promote to staging: its id or version number. A new value promotes again."
  type        = string
}

resource "berth_pipeline_promotion" "shop_to_staging" {
  pipeline   = berth_pipeline.shop.id
  source_app = berth_pipeline_coupling.shop_dev.app
  release_id = var.shop_release
  targets    = [berth_pipeline_coupling.shop_stg.app]
  # Refuse if shop-dev and shop-stg differ in config var names or bound services.
  safe = true

  timeouts {
    create = "15m"
  }
}
