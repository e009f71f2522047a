package client

// ReleasesService manages releases and release statuses.
type ReleasesService service

// PipelinesService manages pipelines and stages (Akkeris).
type PipelinesService service

// CouplingsService manages pipeline couplings (Akkeris).
type CouplingsService service

// PromotionsService creates and follows pipeline promotions (Akkeris).
type PromotionsService service
