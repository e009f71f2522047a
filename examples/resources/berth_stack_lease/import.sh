# A lease is imported by the name of its stack: Terraform adopts the lease
# that holds the stack now (an available stack cannot be imported). The
# stack is read with the provider's stack_api_key (or BERTH_STACK_API_KEY),
# which must be the key of the stack's project.
terraform import berth_stack_lease.review web-3
