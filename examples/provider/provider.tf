# Configure the provider with the berthd endpoint and a token. Both can come
# from the environment instead: BERTH_ENDPOINT and BERTH_TOKEN.
provider "berth" {
  endpoint = "http://127.0.0.1:8080"
  token    = var.berth_token
}

variable "berth_token" {
  type      = string
  sensitive = true
}
