# The apps shop-dev and shop-stg exist already (berth_app resources, for
# example); an app is in at most one pipeline.
resource "berth_pipeline_coupling" "shop_dev" {
  pipeline = berth_pipeline.shop.id
  app      = "shop-dev"
  stage    = "development"
}

resource "berth_pipeline_coupling" "shop_stg" {
  pipeline = berth_pipeline.shop.id
  app      = "shop-stg"
  stage    = "staging"
  # A release reaches staging only once CI has passed on it.
  required_status_checks = ["ci/tests"]
}
