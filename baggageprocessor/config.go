package baggageprocessor

// Config is the configuration of the baggage processor.
type Config struct{}
