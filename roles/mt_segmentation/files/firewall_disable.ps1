# mtk-applier: firewall_disable
<#
.SYNOPSIS
    mt-eklient build applier: disables the named firewall rules.
.DESCRIPTION
    Names: the rules the change set (mt_eklient.changeset) found open outside the managed group (allow,
    any protocol, port, address and program). No comparison here: the controller decided from the
    collector's facts. Disabled, not removed, so the change can be undone. Honours -WhatIf (check mode).
#>
[CmdletBinding(SupportsShouldProcess)]
param(
    [string[]]$Names = @()
)
$ErrorActionPreference = 'Stop'

$before = [ordered]@{}
$after = [ordered]@{}
foreach ($name in $Names) {
    $before[$name] = 'enabled'
    $after[$name] = 'disabled'
    if ($PSCmdlet.ShouldProcess($name, 'Disable-NetFirewallRule')) {
        Disable-NetFirewallRule -Name $name
    }
}

$Ansible.Changed = $Names.Count -gt 0
$Ansible.Diff = @{ before = $before; after = $after }
