data "berth_platforms" "all" {}

output "platforms" {
  value = data.berth_platforms.all.names
}
