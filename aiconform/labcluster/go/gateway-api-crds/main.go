// Package main pins the Gateway API's Go types for controller-gen (aiconform lab build): importing the API
// packages keeps sigs.k8s.io/gateway-api in the module graph (and its hashes in go/sums). Not run.
package main

import (
	_ "sigs.k8s.io/gateway-api/apis/v1"
	_ "sigs.k8s.io/gateway-api/apis/v1beta1"
)

func main() {}
