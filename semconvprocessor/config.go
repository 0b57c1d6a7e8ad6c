package semconvprocessor

// Config is the configuration of the semconv processor.
type Config struct{}
