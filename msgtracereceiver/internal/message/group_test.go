package message

import (
	"reflect"
	"testing"
)

func TestGroupByDestination(t *testing.T) {
	msgs := []Message{
		{Destination: "a", ID: "1"}, {Destination: "b", ID: "2"},
		{Destination: "a", ID: "3"}, {Destination: "c", ID: "4"}, {Destination: "b", ID: "5"},
	}
	var got [][]string
	for _, g := range GroupByDestination(msgs) {
		var ids []string
		for _, m := range g {
			ids = append(ids, m.Destination+m.ID)
		}
		got = append(got, ids)
	}
	want := [][]string{{"a1", "a3"}, {"b2", "b5"}, {"c4"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("groups = %v, want %v", got, want)
	}
	if GroupByDestination(nil) != nil {
		t.Fatal("no messages must give no groups")
	}
}
