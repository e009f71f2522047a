package client

// ServicesService manages services (tsuru 1.2).
type ServicesService service

// InstancesService manages service instances and bindings (tsuru 1.3).
type InstancesService service
