// Package pricing computes quotes: bulk discounts, coupons and tax.
package pricing

import (
	"errors"
	"strings"
)

// ErrUnknownCoupon is returned for a coupon code that does not exist.
var ErrUnknownCoupon = errors.New("unknown coupon")

// Quote is the price of buying some units of one item.
type Quote struct {
	UnitCents     int64  `json:"unit_cents"`
	Units         int    `json:"units"`
	SubtotalCents int64  `json:"subtotal_cents"`
	DiscountCents int64  `json:"discount_cents"`
	TaxCents      int64  `json:"tax_cents"`
	TotalCents    int64  `json:"total_cents"`
	Coupon        string `json:"coupon,omitempty"`
}

type coupon struct {
	percent  int64
	minUnits int
}

var coupons = map[string]coupon{
	"SPRING10": {percent: 10},
	"BULK25":   {percent: 25, minUnits: 100},
	"STAFF50":  {percent: 50},
}

// taxBasisPoints maps a region to its sales tax in basis points.
var taxBasisPoints = map[string]int64{
	"us-east": 625,
	"us-west": 725,
	"eu":      2000,
}

// bulkPercent is the volume discount for a number of units.
func bulkPercent(units int) int64 {
	switch {
	case units >= 1000:
		return 15
	case units >= 250:
		return 10
	case units >= 50:
		return 5
	default:
		return 0
	}
}

// Compute returns the quote for units of an item priced unitCents.
// The larger of the bulk discount and the coupon applies, never both.
func Compute(unitCents int64, units int, couponCode, region string) (Quote, error) {
	q := Quote{UnitCents: unitCents, Units: units, SubtotalCents: unitCents * int64(units)}
	percent := bulkPercent(units)
	if couponCode != "" {
		c, ok := coupons[strings.ToUpper(couponCode)]
		if !ok {
			return Quote{}, ErrUnknownCoupon
		}
		if units >= c.minUnits && c.percent > percent {
			percent = c.percent
			q.Coupon = strings.ToUpper(couponCode)
		}
	}
	q.DiscountCents = q.SubtotalCents * percent / 100
	taxable := q.SubtotalCents - q.DiscountCents
	if bp, ok := taxBasisPoints[region]; ok {
		q.TaxCents = (taxable*bp + 5000) / 10000
	}
	q.TotalCents = taxable + q.TaxCents
	return q, nil
}
