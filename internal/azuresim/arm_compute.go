package azuresim

import (
	"fmt"
	"net/http"
	"strings"
)

// Microsoft.Compute virtual machines and Microsoft.Network interfaces and
// public IP addresses.

const (
	vmProvider  = "Microsoft.Compute/virtualMachines"
	nicProvider = "Microsoft.Network/networkInterfaces"
	pipProvider = "Microsoft.Network/publicIPAddresses"
)

func (s *Sim) registerComputeRoutes() {
	for _, r := range []struct{ kind, provider, action string }{
		{"virtualmachines", vmProvider, "Microsoft.Compute/virtualMachines/read"},
		{"networkinterfaces", nicProvider, "Microsoft.Network/networkInterfaces/read"},
		{"publicipaddresses", pipProvider, "Microsoft.Network/publicIPAddresses/read"},
	} {
		list, get := s.computeHandlers(r.provider)
		s.armRoute(http.MethodGet, "/subscriptions/{subscriptionId}/providers/"+r.provider, "arm."+r.kind+".list", r.action, list)
		s.armRoute(http.MethodGet, "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/"+r.provider, "arm."+r.kind+".listbyrg", r.action, list)
		s.armRoute(http.MethodGet, "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/"+r.provider+"/{name}", "arm."+r.kind+".get", r.action, get)
	}
}

func vms(g *ResourceGroup) []*VirtualMachine    { return g.VirtualMachines }
func vmName(v *VirtualMachine) string           { return v.Name }
func nics(g *ResourceGroup) []*NetworkInterface { return g.NetworkInterfaces }
func nicName(n *NetworkInterface) string        { return n.Name }
func pips(g *ResourceGroup) []*PublicIPAddress  { return g.PublicIPAddresses }
func pipName(p *PublicIPAddress) string         { return p.Name }
func macFor(id string) string {
	sum := sha1Sum([]byte(id))
	return fmt.Sprintf("00-0D-3A-%02X-%02X-%02X", sum[0], sum[1], sum[2])
}
func ipConfigID(subID, rg, nic string) string {
	return resScope(subID, rg, nicProvider, nic) + "/ipConfigurations/ipconfig1"
}
func vmListExpand(c *armCall) bool {
	return strings.EqualFold(c.r.URL.Query().Get("$expand"), "instanceView")
}
func pipFromNIC(subID, rg string, n *NetworkInterface) string {
	if n.PublicIPAddress == "" {
		return ""
	}
	return resScope(subID, rg, pipProvider, n.PublicIPAddress)
}

func vmJSON(l located[*VirtualMachine], withInstanceView bool) any {
	v := l.res
	var nicsJSON []any
	for i, n := range v.NetworkInterfaces {
		nicsJSON = append(nicsJSON, map[string]any{"id": resScope(l.sub.ID, l.rg.Name, nicProvider, n), "properties": map[string]any{"primary": i == 0}})
	}
	osProfile := map[string]any{"computerName": v.ComputerName, "adminUsername": "azureuser", "allowExtensionOperations": true}
	image := map[string]any{"publisher": "Canonical", "offer": "ubuntu-24_04-lts", "sku": "server", "version": "latest"}
	if v.OSType == "Windows" {
		osProfile["windowsConfiguration"] = map[string]any{"provisionVMAgent": true, "enableAutomaticUpdates": true}
		image = map[string]any{"publisher": "MicrosoftWindowsServer", "offer": "WindowsServer", "sku": "2022-datacenter-azure-edition", "version": "latest"}
	} else {
		osProfile["linuxConfiguration"] = map[string]any{"disablePasswordAuthentication": true, "provisionVMAgent": true}
	}
	props := map[string]any{
		"vmId":            v.VMID,
		"hardwareProfile": map[string]string{"vmSize": v.VMSize},
		"storageProfile": map[string]any{
			"imageReference": image,
			"osDisk": map[string]any{"osType": v.OSType, "name": v.Name + "_OsDisk_1", "createOption": "FromImage", "caching": "ReadWrite",
				"managedDisk": map[string]any{"storageAccountType": "Premium_LRS", "id": rgScope(l.sub.ID, l.rg.Name) + "/providers/Microsoft.Compute/disks/" + v.Name + "_OsDisk_1"}, "diskSizeGB": 30},
			"dataDisks": []any{},
		},
		"osProfile":         osProfile,
		"networkProfile":    map[string]any{"networkInterfaces": nicsJSON},
		"provisioningState": "Succeeded",
	}
	if withInstanceView {
		props["instanceView"] = map[string]any{
			"computerName": v.ComputerName,
			"osName":       map[bool]string{true: "Windows Server 2022 Datacenter", false: "ubuntu"}[v.OSType == "Windows"],
			"statuses": []any{
				map[string]string{"code": "ProvisioningState/succeeded", "level": "Info", "displayStatus": "Provisioning succeeded"},
				map[string]string{"code": "PowerState/" + v.PowerState, "level": "Info", "displayStatus": "VM " + v.PowerState},
			},
		}
	}
	out := map[string]any{"id": l.id, "name": v.Name, "type": vmProvider, "location": v.Location, "properties": props}
	if len(v.Tags) > 0 {
		out["tags"] = v.Tags
	}
	return out
}

func nicJSON(l located[*NetworkInterface]) any {
	n := l.res
	ipProps := map[string]any{
		"privateIPAddress":          n.PrivateIPAddress,
		"privateIPAllocationMethod": "Dynamic",
		"privateIPAddressVersion":   "IPv4",
		"primary":                   true,
		"provisioningState":         "Succeeded",
		"subnet":                    map[string]string{"id": n.Subnet},
	}
	if pip := pipFromNIC(l.sub.ID, l.rg.Name, n); pip != "" {
		ipProps["publicIPAddress"] = map[string]string{"id": pip}
	}
	props := map[string]any{
		"provisioningState": "Succeeded",
		"ipConfigurations": []any{map[string]any{
			"name": "ipconfig1", "id": ipConfigID(l.sub.ID, l.rg.Name, n.Name),
			"type": "Microsoft.Network/networkInterfaces/ipConfigurations", "properties": ipProps,
		}},
		"primary":                     true,
		"macAddress":                  macFor(l.id),
		"enableAcceleratedNetworking": false,
		"enableIPForwarding":          false,
		"nicType":                     "Standard",
	}
	for _, v := range l.rg.VirtualMachines {
		for _, name := range v.NetworkInterfaces {
			if strings.EqualFold(name, n.Name) {
				props["virtualMachine"] = map[string]string{"id": resScope(l.sub.ID, l.rg.Name, vmProvider, v.Name)}
			}
		}
	}
	return map[string]any{"id": l.id, "name": n.Name, "type": nicProvider, "location": n.Location, "properties": props}
}

func pipJSON(l located[*PublicIPAddress]) any {
	p := l.res
	props := map[string]any{
		"provisioningState":        "Succeeded",
		"ipAddress":                p.IPAddress,
		"publicIPAddressVersion":   "IPv4",
		"publicIPAllocationMethod": "Static",
		"idleTimeoutInMinutes":     4,
	}
	if p.FQDN != "" {
		props["dnsSettings"] = map[string]string{"domainNameLabel": strings.SplitN(p.FQDN, ".", 2)[0], "fqdn": p.FQDN}
	}
	for _, n := range l.rg.NetworkInterfaces {
		if strings.EqualFold(n.PublicIPAddress, p.Name) {
			props["ipConfiguration"] = map[string]string{"id": ipConfigID(l.sub.ID, l.rg.Name, n.Name)}
		}
	}
	return map[string]any{"id": l.id, "name": p.Name, "type": pipProvider, "location": p.Location,
		"sku": map[string]string{"name": "Standard", "tier": "Regional"}, "properties": props}
}

// computeHandlers returns the list and get handlers of one resource type.
func (s *Sim) computeHandlers(provider string) (list, get func(*armCall)) {
	switch provider {
	case vmProvider:
		return func(c *armCall) {
				_, sub, ok := c.subscription()
				if !ok {
					return
				}
				all, ok := collect(c, sub, provider, vms, vmName)
				if !ok {
					return
				}
				if c.r.URL.Query().Get("statusOnly") == "true" {
					listVisible(c, sub, all, func(l located[*VirtualMachine]) any { return vmJSON(l, true) })
					return
				}
				listVisible(c, sub, all, func(l located[*VirtualMachine]) any { return vmJSON(l, vmListExpand(c)) })
			}, func(c *armCall) {
				l, ok := getOne(c, provider, provider, vms, vmName)
				if !ok {
					return
				}
				s.mu.RLock()
				defer s.mu.RUnlock()
				c.reply(http.StatusOK, vmJSON(l, vmListExpand(c)))
			}
	case nicProvider:
		return func(c *armCall) {
				_, sub, ok := c.subscription()
				if !ok {
					return
				}
				if all, ok := collect(c, sub, provider, nics, nicName); ok {
					listVisible(c, sub, all, nicJSON)
				}
			}, func(c *armCall) {
				if l, ok := getOne(c, provider, provider, nics, nicName); ok {
					s.mu.RLock()
					defer s.mu.RUnlock()
					c.reply(http.StatusOK, nicJSON(l))
				}
			}
	default:
		return func(c *armCall) {
				_, sub, ok := c.subscription()
				if !ok {
					return
				}
				if all, ok := collect(c, sub, provider, pips, pipName); ok {
					listVisible(c, sub, all, pipJSON)
				}
			}, func(c *armCall) {
				if l, ok := getOne(c, provider, provider, pips, pipName); ok {
					s.mu.RLock()
					defer s.mu.RUnlock()
					c.reply(http.StatusOK, pipJSON(l))
				}
			}
	}
}
