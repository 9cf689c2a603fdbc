# mtk-applier: applocker
<#
.SYNOPSIS
    mt-eklient build applier: replaces the local AppLocker policy with the given one.
.DESCRIPTION
    PolicyXml: the whole policy (mt_eklient.applocker.policy_xml), set without -Merge. Changes: the
    AppLocker changes of the change set (@{ item; before; after }), for the diff. The role calls it only
    when the controller found the policy different (mt_eklient.changeset); nothing is read or compared
    here. The Application Identity service is managed by the role. Honours -WhatIf (check mode).
#>
[CmdletBinding(SupportsShouldProcess)]
param(
    [Parameter(Mandatory)][string]$PolicyXml,
    [object[]]$Changes = @()
)
$ErrorActionPreference = 'Stop'

$before = [ordered]@{}
$after = [ordered]@{}
foreach ($change in $Changes) {
    $before[[string]$change.item] = $change.before
    $after[[string]$change.item] = $change.after
}
if ($PSCmdlet.ShouldProcess('local AppLocker policy', 'Set-AppLockerPolicy')) {
    $file = Join-Path $Ansible.Tmpdir 'applocker.xml'
    Set-Content -LiteralPath $file -Value $PolicyXml -Encoding UTF8
    Set-AppLockerPolicy -XmlPolicy $file
}

$Ansible.Changed = $true
$Ansible.Diff = @{ before = $before; after = $after }
