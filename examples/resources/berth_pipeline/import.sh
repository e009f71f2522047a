# A pipeline is imported by its name or its id.
terraform import berth_pipeline.shop shop
