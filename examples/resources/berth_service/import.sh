# A service is imported by its id. berthd never answers the broker password:
# set it in the configuration and the next apply sends it.
terraform import berth_service.postgres postgres
