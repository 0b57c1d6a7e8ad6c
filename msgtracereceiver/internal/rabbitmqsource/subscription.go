package rabbitmqsource

// subscription names what the tap subscribed to that yielded o, the label
// of the receiver's own metrics: the firehose event ("firehose/publish",
// "firehose/deliver"), or in queue mode the exchange of one of the
// configured bindings. Never the routing key, which can carry IDs.
func (o *observation) subscription() string {
	if o.event != "" {
		return "firehose/" + o.event
	}
	if o.exchange == "" {
		return defaultExchange
	}
	return o.exchange
}
