// Package controllers holds the DNS operator's two controllers: the zone
// controller, which keeps the fleet's DNS zone true to the hostnames this
// cluster holds, and the claim status controller, which reports the
// outcome on the hub's claims and on the objects that use the hostnames.
package controllers
