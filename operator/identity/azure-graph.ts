// Azure AD / Microsoft Entra ID groups: Microsoft Graph's memberOf for the user, read
// with an app-only token of Infra's own app registration (client credentials with the
// application permission GroupMember.Read.All). A group is named by its object ID: any
// member of the tenant can create a group with any display name, but only Entra assigns IDs.
import { getJSON, type Fetch, type GroupSource } from './groups.ts';

export const graphScope = 'https://graph.microsoft.com/.default';
const graphBase = 'https://graph.microsoft.com/v1.0';

interface MemberOfPage {
  value?: { '@odata.type'?: string; id?: string }[];
  '@odata.nextLink'?: string;
}

/** The first page's URL: the user's direct group memberships (directory roles and units filtered out by the cast). */
export function memberOfURL(user: string): string {
  return `${graphBase}/users/${encodeURIComponent(user)}/memberOf/microsoft.graph.group?$select=id&$top=999`;
}

export function graphMemberOf(accessToken: () => Promise<string>, fetcher: Fetch = fetch): GroupSource {
  return {
    async groupsOf(person) {
      const groups: string[] = [];
      let url: string | undefined = memberOfURL(person.objectId ?? person.email);
      while (url) {
        const page: MemberOfPage = await getJSON<MemberOfPage>(fetcher, url, await accessToken(), 'Microsoft Graph (memberOf)');
        for (const group of page.value ?? []) {
          if (typeof group.id === 'string' && group.id !== '') groups.push(group.id);
        }
        url = page['@odata.nextLink'];
      }
      return groups;
    },
  };
}
