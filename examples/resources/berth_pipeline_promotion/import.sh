# A promotion is imported by its id (GET /pipeline-promotions lists them).
terraform import berth_pipeline_promotion.shop_to_staging 6f1c8f4e-2b7d-4c1a-9e35-0d8a4b2c7e91
