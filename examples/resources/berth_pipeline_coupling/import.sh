# A coupling is imported by its app's name or id (an app is in at most one
# pipeline), or by the coupling's own id.
terraform import berth_pipeline_coupling.shop_stg shop-stg
