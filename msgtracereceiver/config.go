package msgtracereceiver

// Config is the configuration of the msgtrace receiver.
type Config struct{}
