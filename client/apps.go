package client

// AppsService manages tsuru apps (tsuru 1.1).
type AppsService service

// EnvService manages app config vars (tsuru 1.1 env).
type EnvService service

// QuotasService reads and sets app quotas (tsuru 1.4).
type QuotasService service

// HealersService lists and runs healers (tsuru 1.5).
type HealersService service

// PlatformsService lists platforms (tsuru 1.6).
type PlatformsService service
