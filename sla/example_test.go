package sla_test

import (
	"fmt"
	"time"

	"github.com/openhelpdesk/helpdesk/sla"
)

// A four-hour business target set late on Friday in Madrid, with Monday a holiday, falls due on
// Tuesday morning.
func ExampleCalendar_Add() {
	hours := map[string][]sla.Interval{}
	for _, day := range []string{"mon", "tue", "wed", "thu", "fri"} {
		hours[day] = []sla.Interval{{From: "09:00", To: "14:00"}, {From: "15:00", To: "18:00"}}
	}
	cal, err := sla.Compile(sla.CalendarSpec{
		Name:     "Madrid office",
		Timezone: "Europe/Madrid",
		Hours:    hours,
		Holidays: []sla.Holiday{{Date: "2025-03-10", Name: "Local holiday"}},
	})
	if err != nil {
		panic(err)
	}
	friday := time.Date(2025, 3, 7, 16, 0, 0, 0, cal.Location())
	due := cal.Add(friday, 4*time.Hour)
	fmt.Println(due.In(cal.Location()).Format("Mon 2 Jan 15:04"))
	fmt.Println(cal.Elapsed(friday, due))
	// Output:
	// Tue 11 Mar 11:00
	// 4h0m0s
}
