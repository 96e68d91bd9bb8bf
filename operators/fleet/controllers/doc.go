// Package controllers holds the hub's MemberCluster status controller: it
// reads the entries the members' components report and sets each
// MemberCluster's Ready and Stale conditions and its summary.
package controllers
