package console

import (
	"fmt"
	"strings"

	"kioskd/cloudlink/contract"
)

// topicRoot matches the topics of every kiosk under one root template, such
// as contract.DefaultRoot, the same template the kiosks are configured with.
type topicRoot struct {
	template string
	prefix   string // before {kiosk_id}
	suffix   string // after it, ending in "/"
}

func newTopicRoot(template string) (topicRoot, error) {
	if _, err := contract.NewTopics(template, "x"); err != nil {
		return topicRoot{}, err
	}
	prefix, suffix, _ := strings.Cut(template, "{kiosk_id}")
	if strings.Contains(suffix, "{kiosk_id}") {
		return topicRoot{}, fmt.Errorf("topic root %q: {kiosk_id} twice", template)
	}
	if !strings.HasSuffix(suffix, "/") {
		suffix += "/"
	}
	return topicRoot{template: template, prefix: prefix, suffix: suffix}, nil
}

// filter is the subscription filter for one leaf topic of every kiosk.
func (r topicRoot) filter(leaf string) string { return r.prefix + "+" + r.suffix + leaf }

// kioskOf returns the kiosk id in a topic of the given leaf, if it is one.
func (r topicRoot) kioskOf(topic, leaf string) (string, bool) {
	rest, ok := strings.CutPrefix(topic, r.prefix)
	if !ok {
		return "", false
	}
	rest, ok = strings.CutSuffix(rest, r.suffix+leaf)
	if !ok || !contract.ValidKioskID(rest) {
		return "", false
	}
	return rest, true
}

// topics returns one kiosk's topics.
func (r topicRoot) topics(kiosk string) (contract.Topics, error) {
	return contract.NewTopics(r.template, kiosk)
}
