# mtk-applier: firewall_rules
<#
.SYNOPSIS
    mt-eklient build applier: creates, updates and removes the rules of one firewall rule group.
.DESCRIPTION
    Changes (in the order given: the management rule first, removals last, so the WinRM rule is
    never absent): list of @{ item; before; after; action = create|update|remove; name; rule =
    @{ name; display_name; direction; action; enabled; protocol; local_ports; remote_ports;
    remote_addresses; program; profiles } (not for remove); clear_ports; clear_program (update: the
    old rule has ports or a program to reset to Any) }. The controller decided each change from the
    collector's facts (mt_eklient.changeset); nothing is read or compared here. Honours -WhatIf.
#>
[CmdletBinding(SupportsShouldProcess)]
param(
    [Parameter(Mandatory)][string]$Group,
    [object[]]$Changes = @()
)
$ErrorActionPreference = 'Stop'

function Get-MtkSettings($Rule, [bool]$ClearPorts, [bool]$ClearProgram) {
    # Set-NetFirewallRule changes only the parameters it is given: every filter is passed, 'Any'
    # where the rule has no restriction. DisplayName is not here: New-NetFirewallRule takes
    # -DisplayName, Set-NetFirewallRule (ByName set) renames with -NewDisplayName.
    $settings = @{
        Direction     = @{ in = 'Inbound'; out = 'Outbound' }[[string]$Rule.direction]
        Action        = @{ allow = 'Allow'; block = 'Block' }[[string]$Rule.action]
        Enabled       = @{ $true = 'True'; $false = 'False' }[[bool]$Rule.enabled]
        Protocol      = [string]$Rule.protocol
        Profile       = @($Rule.profiles) -join ','
        RemoteAddress = @('Any')
    }
    if ($settings.Protocol -eq 'any') { $settings.Protocol = 'Any' }
    if (@($Rule.remote_addresses).Count) { $settings.RemoteAddress = @($Rule.remote_addresses | ForEach-Object { [string]$_ }) }
    if ($Rule.program) { $settings.Program = [string]$Rule.program }
    elseif ($ClearProgram) { $settings.Program = 'Any' }
    # Ports exist only for TCP and UDP; an old rule's ports are cleared when the protocol changes.
    if ([string]$Rule.protocol -in @('tcp', 'udp') -or $ClearPorts) {
        $settings.LocalPort = @('Any')
        $settings.RemotePort = @('Any')
        if (@($Rule.local_ports).Count) { $settings.LocalPort = @($Rule.local_ports | ForEach-Object { [string]$_ }) }
        if (@($Rule.remote_ports).Count) { $settings.RemotePort = @($Rule.remote_ports | ForEach-Object { [string]$_ }) }
    }
    $settings
}

$before = [ordered]@{}
$after = [ordered]@{}
foreach ($change in $Changes) {
    $name = [string]$change.name
    $before[[string]$change.item] = $change.before
    $after[[string]$change.item] = $change.after
    $rule = $change.rule
    switch ([string]$change.action) {
        'create' {
            if ($PSCmdlet.ShouldProcess($name, 'New-NetFirewallRule')) {
                $settings = Get-MtkSettings $rule $false $false
                New-NetFirewallRule -Name $name -DisplayName ([string]$rule.display_name) -Group $Group @settings | Out-Null
            }
        }
        'update' {
            if ($PSCmdlet.ShouldProcess($name, 'Set-NetFirewallRule')) {
                $settings = Get-MtkSettings $rule ([bool]$change.clear_ports) ([bool]$change.clear_program)
                Set-NetFirewallRule -Name $name -NewDisplayName ([string]$rule.display_name) @settings
            }
        }
        'remove' {
            if ($PSCmdlet.ShouldProcess($name, 'Remove-NetFirewallRule')) { Remove-NetFirewallRule -Name $name }
        }
        default { throw "unknown firewall rule action '$($change.action)' for $name" }
    }
}

$Ansible.Changed = $Changes.Count -gt 0
$Ansible.Diff = @{ before = $before; after = $after }
